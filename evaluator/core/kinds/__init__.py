"""The kinds of rules a policy is made of, each defined once, in one module of this package.

A rule kind (a tier, a bonus, a criterion, a document requirement…) says, in its module:
- which rules of a policy are of that kind (``rules``), each with its id (its path in the file),
  label and clause;
- the outcomes each rule may have (``branches``): what coverage counts, docs and diff show;
- how its rules are applied to an application: the ``evaluate`` of its section, which records one
  finding per rule applied, naming the outcome (``findings.Applied.branch``) it took — the only
  statement of the kind's semantics.

``registry.SECTIONS`` lists the sections in evaluation order (the order in which their facts become
known), ``registry.KINDS`` every kind, in the same order; ``base`` holds what every kind shares
(the evaluation's state, ``Work``). The engine is a loop over ``SECTIONS``; coverage, docs and
diff read ``KINDS``. Adding a kind is its schema fragment, one module registered here, and its
golden cases.
"""
