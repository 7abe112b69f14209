"""The CDK app: one stack, built from the resource specifications in ``leadscore.resources``."""
