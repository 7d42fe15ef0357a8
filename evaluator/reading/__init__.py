"""Reading documents: YAML and JSON parsed safely with the place of every value, JSON Schema validation
with French messages, the problems of bad input, and the bundled resources.
"""
