"""Leaf helpers shared by every concern: errors, CDK tokens, names, IAM, cdk-nag, buckets.

Nothing here imports from the rest of the package.
"""
