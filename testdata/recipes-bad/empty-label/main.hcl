files "" { # ERROR: Invalid name | "" is not a valid name
  path = "data"
}

exec "1st" { # ERROR: Invalid name | "1st" is not a valid name
  command = ["true"]
  outputs = ["out"]
}

variable "" { # ERROR: Invalid name
  default = 1
}

exec "a.b" { # ERROR: Invalid name
  command = ["true"]
  outputs = ["out"]
}
