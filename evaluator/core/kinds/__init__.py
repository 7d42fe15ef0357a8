"""The kinds of rules a policy is made of, each defined once, in one module of this package.

A rule kind (a tier, a bonus, a criterion, a document requirement…) says, in its module:
- which rules of a policy are of that kind (``rules``), each with its id (its path in the file),
  label and clause;
- the outcomes each rule may have (``branches``): what coverage counts, docs and diff show;
- how its rules are applied to an application: the ``evaluate`` of its section, which records one
  finding per rule applied, naming the outcome (``findings.Applied.branch``) it took — the only
  statement of the kind's semantics.

``registry.SECTIONS`` lists the bundled sections in evaluation order (the order in which their facts
become known), each with its kinds; ``registry.kinds_of(policy)`` gives every kind of a policy, in
the same order; ``base`` holds what every kind shares (``Kind``, ``Section``, the evaluation's
state ``Work``). The engine is a loop over a policy's sections; coverage, docs and diff read
``kinds_of``. Adding a kind is one module with its ``Section`` (and the schema of its key), in
``SECTIONS`` or given to ``load_policy``, and its golden cases (``tests/test_kinds.py``).
"""
