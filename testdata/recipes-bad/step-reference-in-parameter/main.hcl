files "src" {
  path = "data"
}

exec "upper" {
  inputs  = { text = files.src }
  command = files.src # ERROR: Step reference in a parameter | files.src refers to a step
  outputs = ["out"]
}
