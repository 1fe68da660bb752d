;; Integer loop: 10 million rounds of xorshift64 on locals (ALU and branch heavy).
(module
  (func (export "run") (result i64)
    (local $x i64) (local $i i32) (local $acc i64)
    i64.const 88172645463325252
    local.set $x
    loop $l
      local.get $x
      local.get $x
      i64.const 13
      i64.shl
      i64.xor
      local.set $x
      local.get $x
      local.get $x
      i64.const 7
      i64.shr_u
      i64.xor
      local.set $x
      local.get $x
      local.get $x
      i64.const 17
      i64.shl
      i64.xor
      local.set $x
      local.get $acc
      local.get $x
      i64.add
      local.set $acc
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      i32.const 10000000
      i32.lt_u
      br_if $l
    end
    local.get $acc))
