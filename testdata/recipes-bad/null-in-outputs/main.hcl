# A null output name must be reported, not crash Load (exec's Validate
# calls Config.StringList("outputs"), which calls AsString on the null).
files "src" {
  path = "data"
}

exec "lower" {
  inputs  = { text = files.src }
  command = ["sh", "-c", "mkdir -p out"]
  outputs = ["out", null] # ERROR: Incorrect value type | null
}
