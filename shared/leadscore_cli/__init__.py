"""The ``leadscore`` command line: the operator's and marketing ops' tools (rules, replay, re-scoring,
reports, training, the local stack). It depends on the runtime package ``leadscore``, which never
imports it, and is never shipped to Lambda."""
