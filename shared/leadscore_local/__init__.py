"""The whole product on one machine: moto's server as AWS, the real handlers invoked as Lambda would.

It depends on the runtime package ``leadscore``, which never imports it, and is never shipped to Lambda."""
