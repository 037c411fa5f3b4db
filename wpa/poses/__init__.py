"""Poses in: the `PoseSequence` record (`sequence`), a clip with its poses (`clip`), the pose model (`estimator`), a whole clip's
poses found on several cores (`extract`), poses shared while they are found (`track`), their
cache on disk (`cache`), landmark tables (`table`), poses from other tools (`layouts`) and the
engines that extract many clips (`extraction`)."""
