package preannotate

// Annotated exposes the count of images run through the network.
var Annotated = &annotated
