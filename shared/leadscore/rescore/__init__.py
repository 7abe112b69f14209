"""Re-scoring every lead from its full archived history under a rule version (``leadscore rescore``).

``people``: who each archived message is about and each person's state rebuilt (pure); ``writer``: the
rebuilt leads written on the version read, never over later activity; ``job``: the local run and the
catch-up that re-joins live activity; ``shuffle``: the AWS fan-out's two steps. docs/rescore.md has the
argument for why no live event is lost or counted twice.
"""
