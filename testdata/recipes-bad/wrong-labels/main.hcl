files "src" "extra" { # ERROR: Wrong number of labels | files "name"
  path = "data"
}

exec { # ERROR: Wrong number of labels | exec "name"
  command = ["true"]
  outputs = ["out"]
}

variable { # ERROR: Wrong number of labels | variable "name"
  default = 1
}

locals "x" { # ERROR: Wrong number of labels
  a = 1
}
