# A null element in a list(string) parameter must be reported, not crash
# Load: Config.StringList calls AsString on the null element.

files "src" {
  path    = "data"
  include = ["*.txt", null] # ERROR: Incorrect value type | null
}

exec "upper" {
  inputs  = { text = files.src }
  command = ["sh", null] # ERROR: Incorrect value type | null
  outputs = ["out"]
}
