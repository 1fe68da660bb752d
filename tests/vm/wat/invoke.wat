;; Exports exercised by tests/vm/test_invoke.py through `weft vm invoke`.
(module
  (import "spectest" "global_i32" (global $g i32))
  (memory 1)
  (func (export "add") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add)
  (func (export "neg1") (result i32)
    i32.const -1)
  (func (export "mul64") (param i64 i64) (result i64)
    local.get 0
    local.get 1
    i64.mul)
  (func (export "half") (param f32) (result f32)
    local.get 0
    f32.const 0.5
    f32.mul)
  (func (export "sqrt") (param f64) (result f64)
    local.get 0
    f64.sqrt)
  (func (export "g") (result i32)
    global.get $g)
  (func (export "div") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.div_s)
  (func (export "boom")
    unreachable)
  (func (export "oob") (result i32)
    i32.const 65536
    i32.load)
  (func (export "spin")
    loop
      br 0
    end)
  (func (export "nothing")))
