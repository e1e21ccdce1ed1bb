"""Interview content (docs/product.md, rule 25): question banks and rubric templates per
specialization (`bank`), the question set of an interview (`question_sets`) and the interviewer's
scored result with members' progress (`scoring`)."""
