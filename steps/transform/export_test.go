package transform

// Decodes and Encodes count image decodes and encodes.
var Decodes, Encodes = &decodes, &encodes
