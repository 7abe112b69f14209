"""The whole product on one machine: moto's server as AWS, the real handlers invoked as Lambda would."""
