# exec.a -> exec.b; exec.b -> exec.c and exec.d; exec.c -> exec.b; exec.d -> exec.a.
# The only cycle through exec.a is a -> b -> d -> a; walking b -> c first
# must not print a cycle that does not exist.

exec "a" {
  inputs  = { x = exec.b.out } # ERROR: Dependency cycle | exec.a → exec.b → exec.d → exec.a. Members: exec.a, exec.b, exec.c and exec.d.
  command = ["true"]
  outputs = ["out"]
}

exec "b" {
  inputs  = { x = exec.c.out, y = exec.d.out }
  command = ["true"]
  outputs = ["out"]
}

exec "c" {
  inputs  = { x = exec.b.out }
  command = ["true"]
  outputs = ["out"]
}

exec "d" {
  inputs  = { x = exec.a.out }
  command = ["true"]
  outputs = ["out"]
}
