"""Recognition: training data (found: `folders`; its poses: `dataset`; `extract`'s `manifest`; any
source: `sources`; shown before training: `preview`; Countix-Fitness: `countix`), features
(`features`, `augment`), the classifier (`model`) and its card (`card`), its training (`train`,
`training_rows`), its honest measurement (`metrics`) and its use on clips and streams (`inference`)."""
