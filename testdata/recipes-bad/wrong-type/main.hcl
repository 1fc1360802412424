files "src" {
  path    = "data"
  include = 5 # ERROR: Incorrect value type | list of string
}

exec "upper" {
  inputs  = { text = files.src }
  command = { a = 1 } # ERROR: Incorrect value type | list of string
  outputs = ["out"]
}

exec "lower" {
  inputs  = { text = files.src }
  command = "tr A-Z a-z" # ERROR: Incorrect value type | list of string
  outputs = ["out"]
}
