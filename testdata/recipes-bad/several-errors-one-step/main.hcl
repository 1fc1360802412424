# Every faulty attribute of a step is reported, not only the first: an
# error in command must not hide the one in env.

files "src" {
  path = "data"
}

exec "upper" {
  inputs  = { text = files.src }
  command = ["sh", "-c", files.src] # ERROR: Step reference in a parameter
  outputs = ["out"]
  env     = 5 # ERROR: Incorrect value type
}

exec "lower" {
  inputs  = { text = files.src }
  command = [var.nope] # ERROR: Unknown variable
  outputs = ["out"]
  env     = "HOME" # ERROR: Incorrect value type
}
