"""Media: video decoding (`video`), the annotated video (`annotate`), charts (`charts`), one colour
per exercise (`colors`), and zip archives of clips uploaded in a browser (`archive`)."""
