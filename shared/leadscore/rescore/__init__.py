"""Re-scoring every lead from its full archived history under a rule version (``leadscore rescore``).

``people``: each person's lead rebuilt from their events (pure); ``writer``: the rebuilt leads written on
the version read, never over later activity; ``job``: routing lines to people, the local run, and the
catch-up that re-joins live activity; ``fanout``: the AWS job's three workers; ``cost``: a run's bill;
``settings``: the workers' configuration. docs/rescore.md has the argument for why no live event is lost
or counted twice.
"""
