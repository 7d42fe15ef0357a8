"""The core: the policy model, expressions and facts, the application model, the kinds of rules, the
engine and the decision. No I/O.
"""
