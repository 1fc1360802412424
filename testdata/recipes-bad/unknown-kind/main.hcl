files "src" {
  path = "data"
}

exce "upper" { # ERROR: Unknown step kind | Did you mean "exec"?
  inputs  = { text = files.src }
  command = ["sh", "-c", "mkdir -p out && tr a-z A-Z < inputs/text/in.txt > out/in.txt"]
  outputs = ["out"]
}

varible "name" { # ERROR: Unknown step kind | Did you mean "variable"?
  default = "x"
}

local { # ERROR: Unknown step kind | Did you mean "locals"?
  a = 1
}
