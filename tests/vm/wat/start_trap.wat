;; A module whose start function traps: instantiation fails with "unreachable".
(module
  (func $start unreachable)
  (start $start)
  (func (export "f") (result i32) i32.const 1))
