"""Movement analysis: repetitions (`reps`), sets of one exercise (`sets`) and form (`form`)."""
