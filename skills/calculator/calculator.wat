;; calculator: the bundled example of a Wasm skill.
;;
;; WASI preview 1, and only fd_read/fd_write: no files, no sockets, no clock. Reads JSON from
;; stdin, e.g. {"expression": "(17 + 3) * -4 % 7"}, evaluates it with 64-bit signed integers
;; (+ - * / %, unary minus, parentheses) and writes {"result": -3} or {"error": "..."} to
;; stdout. Built into skill.wasm by src/skills/build_wasm.ts (binaryen parses this text).
(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)

  ;; Layout: 0 iovec, 16 byte counter, 64.. messages, 1024.. input (64 KiB - 1024),
  ;; 66000.. output.
  (data (i32.const 64) "\"expression\"")              ;; 12 bytes at 64
  (data (i32.const 80) "{\"result\":")                 ;; 10 bytes at 80
  (data (i32.const 96) "{\"error\":\"")                ;; 10 bytes at 96
  (data (i32.const 112) "syntax error")                ;; 12 at 112
  (data (i32.const 128) "division by zero")            ;; 16 at 128
  (data (i32.const 148) "overflow")                    ;; 8 at 148
  (data (i32.const 160) "no expression in the input")  ;; 26 at 160
  (data (i32.const 192) "number too large")            ;; 16 at 192
  (data (i32.const 212) "nested too deep")             ;; 15 at 212
  (data (i32.const 232) "escapes are not supported")   ;; 25 at 232

  (global $pos (mut i32) (i32.const 0))
  (global $end (mut i32) (i32.const 0))
  (global $err (mut i32) (i32.const 0))
  (global $depth (mut i32) (i32.const 0))
  (global $out (mut i32) (i32.const 66000))

  ;; --- input -----------------------------------------------------------------------------
  (func $read_all (result i32)
    (local $len i32) (local $n i32)
    (block $done
      (loop $more
        (br_if $done (i32.ge_u (local.get $len) (i32.const 64000)))
        (i32.store (i32.const 0) (i32.add (i32.const 1024) (local.get $len)))
        (i32.store (i32.const 4) (i32.sub (i32.const 64000) (local.get $len)))
        (br_if $done (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)))
        (local.set $n (i32.load (i32.const 16)))
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $len (i32.add (local.get $len) (local.get $n)))
        (br $more)))
    (local.get $len))

  ;; Finds "expression" : " and sets $pos/$end to the string's contents; 0 when absent.
  (func $locate (param $len i32) (result i32)
    (local $i i32) (local $k i32) (local $p i32) (local $c i32)
    (block $notfound
      (loop $scan
        (br_if $notfound (i32.gt_u (i32.add (local.get $i) (i32.const 12)) (local.get $len)))
        (local.set $k (i32.const 0))
        (block $mismatch
          (loop $cmp
            (br_if $mismatch
              (i32.ne
                (i32.load8_u (i32.add (i32.const 1024) (i32.add (local.get $i) (local.get $k))))
                (i32.load8_u (i32.add (i32.const 64) (local.get $k)))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br_if $cmp (i32.lt_u (local.get $k) (i32.const 12))))
          ;; key matched: skip spaces, a colon, spaces, then a quote
          (local.set $p (i32.add (i32.add (i32.const 1024) (local.get $i)) (i32.const 12)))
          (local.set $p (call $skip_ws_at (local.get $p) (i32.add (i32.const 1024) (local.get $len))))
          (br_if $mismatch (i32.ne (i32.load8_u (local.get $p)) (i32.const 58)))
          (local.set $p (call $skip_ws_at (i32.add (local.get $p) (i32.const 1))
            (i32.add (i32.const 1024) (local.get $len))))
          (br_if $mismatch (i32.ne (i32.load8_u (local.get $p)) (i32.const 34)))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (global.set $pos (local.get $p))
          (block $closed
            (loop $str
              (if (i32.ge_u (local.get $p) (i32.add (i32.const 1024) (local.get $len)))
                (then (return (i32.const 0))))
              (local.set $c (i32.load8_u (local.get $p)))
              (br_if $closed (i32.eq (local.get $c) (i32.const 34)))
              (if (i32.eq (local.get $c) (i32.const 92))
                (then (global.set $err (i32.const 7)) (return (i32.const 1))))
              (local.set $p (i32.add (local.get $p) (i32.const 1)))
              (br $str)))
          (global.set $end (local.get $p))
          (return (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $scan)))
    (i32.const 0))

  (func $skip_ws_at (param $p i32) (param $limit i32) (result i32)
    (block $done
      (loop $ws
        (br_if $done (i32.ge_u (local.get $p) (local.get $limit)))
        (br_if $done (i32.gt_u (i32.load8_u (local.get $p)) (i32.const 32)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $ws)))
    (local.get $p))

  ;; --- parser ----------------------------------------------------------------------------
  (func $peek (result i32)
    (global.set $pos (call $skip_ws_at (global.get $pos) (global.get $end)))
    (if (result i32) (i32.ge_u (global.get $pos) (global.get $end))
      (then (i32.const 0))
      (else (i32.load8_u (global.get $pos)))))

  (func $fail (param $code i32) (result i64)
    (if (i32.eqz (global.get $err)) (then (global.set $err (local.get $code))))
    (i64.const 0))

  (func $add (param $a i64) (param $b i64) (result i64)
    (local $r i64)
    (local.set $r (i64.add (local.get $a) (local.get $b)))
    ;; signed overflow: both operands differ in sign from the result
    (if (i64.lt_s (i64.and (i64.xor (local.get $a) (local.get $r))
                           (i64.xor (local.get $b) (local.get $r))) (i64.const 0))
      (then (return (call $fail (i32.const 3)))))
    (local.get $r))

  (func $mul (param $a i64) (param $b i64) (result i64)
    (local $r i64)
    (if (i32.or (i64.eqz (local.get $a)) (i64.eqz (local.get $b))) (then (return (i64.const 0))))
    (if (i32.or
          (i32.and (i64.eq (local.get $a) (i64.const -1))
                   (i64.eq (local.get $b) (i64.const 0x8000000000000000)))
          (i32.and (i64.eq (local.get $b) (i64.const -1))
                   (i64.eq (local.get $a) (i64.const 0x8000000000000000))))
      (then (return (call $fail (i32.const 3)))))
    (local.set $r (i64.mul (local.get $a) (local.get $b)))
    (if (i64.ne (i64.div_s (local.get $r) (local.get $b)) (local.get $a))
      (then (return (call $fail (i32.const 3)))))
    (local.get $r))

  (func $expr (result i64)
    (local $acc i64) (local $c i32)
    (local.set $acc (call $term))
    (block $done
      (loop $more
        (br_if $done (global.get $err))
        (local.set $c (call $peek))
        (if (i32.eq (local.get $c) (i32.const 43))
          (then
            (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
            (local.set $acc (call $add (local.get $acc) (call $term)))
            (br $more)))
        (if (i32.eq (local.get $c) (i32.const 45))
          (then
            (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
            (local.set $acc (call $add (local.get $acc) (call $neg (call $term))))
            (br $more)))))
    (local.get $acc))

  (func $neg (param $v i64) (result i64)
    (if (i64.eq (local.get $v) (i64.const 0x8000000000000000))
      (then (return (call $fail (i32.const 3)))))
    (i64.sub (i64.const 0) (local.get $v)))

  (func $term (result i64)
    (local $acc i64) (local $c i32) (local $rhs i64)
    (local.set $acc (call $unary))
    (block $done
      (loop $more
        (br_if $done (global.get $err))
        (local.set $c (call $peek))
        (if (i32.eq (local.get $c) (i32.const 42))
          (then
            (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
            (local.set $acc (call $mul (local.get $acc) (call $unary)))
            (br $more)))
        (if (i32.or (i32.eq (local.get $c) (i32.const 47)) (i32.eq (local.get $c) (i32.const 37)))
          (then
            (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
            (local.set $rhs (call $unary))
            (br_if $done (global.get $err))
            (if (i64.eqz (local.get $rhs)) (then (return (call $fail (i32.const 2)))))
            (if (i32.and (i64.eq (local.get $rhs) (i64.const -1))
                         (i64.eq (local.get $acc) (i64.const 0x8000000000000000)))
              (then (return (call $fail (i32.const 3)))))
            (if (i32.eq (local.get $c) (i32.const 47))
              (then (local.set $acc (i64.div_s (local.get $acc) (local.get $rhs))))
              (else (local.set $acc (i64.rem_s (local.get $acc) (local.get $rhs)))))
            (br $more)))))
    (local.get $acc))

  (func $unary (result i64)
    (local $c i32) (local $v i64)
    (global.set $depth (i32.add (global.get $depth) (i32.const 1)))
    (if (i32.gt_u (global.get $depth) (i32.const 200)) (then (return (call $fail (i32.const 6)))))
    (local.set $c (call $peek))
    (if (i32.eq (local.get $c) (i32.const 45))
      (then
        (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
        (local.set $v (call $neg (call $unary))))
      (else
        (if (i32.eq (local.get $c) (i32.const 43))
          (then
            (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
            (local.set $v (call $unary)))
          (else (local.set $v (call $primary))))))
    (global.set $depth (i32.sub (global.get $depth) (i32.const 1)))
    (local.get $v))

  (func $primary (result i64)
    (local $c i32) (local $v i64) (local $d i64) (local $digits i32)
    (local.set $c (call $peek))
    (if (i32.eq (local.get $c) (i32.const 40))
      (then
        (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
        (local.set $v (call $expr))
        (if (i32.ne (call $peek) (i32.const 41)) (then (return (call $fail (i32.const 1)))))
        (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
        (return (local.get $v))))
    (block $done
      (loop $digit
        (br_if $done (i32.ge_u (global.get $pos) (global.get $end)))
        (local.set $c (i32.load8_u (global.get $pos)))
        (br_if $done (i32.or (i32.lt_u (local.get $c) (i32.const 48))
                             (i32.gt_u (local.get $c) (i32.const 57))))
        (local.set $d (i64.extend_i32_u (i32.sub (local.get $c) (i32.const 48))))
        ;; v * 10 + d must stay <= 2^63 - 1
        (if (i64.gt_s (local.get $v)
              (i64.div_s (i64.sub (i64.const 0x7fffffffffffffff) (local.get $d)) (i64.const 10)))
          (then (return (call $fail (i32.const 5)))))
        (local.set $v (i64.add (i64.mul (local.get $v) (i64.const 10)) (local.get $d)))
        (local.set $digits (i32.add (local.get $digits) (i32.const 1)))
        (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
        (br $digit)))
    (if (i32.eqz (local.get $digits)) (then (return (call $fail (i32.const 1)))))
    (local.get $v))

  ;; --- output ----------------------------------------------------------------------------
  ;; A byte loop rather than memory.copy keeps the module within the Wasm MVP feature set.
  (func $emit (param $src i32) (param $len i32)
    (local $i i32)
    (block $done
      (loop $copy
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (call $emit_byte (i32.load8_u (i32.add (local.get $src) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $copy))))

  (func $emit_byte (param $b i32)
    (i32.store8 (global.get $out) (local.get $b))
    (global.set $out (i32.add (global.get $out) (i32.const 1))))

  (func $emit_i64 (param $v i64)
    (local $buf i32) (local $n i32) (local $neg i32) (local $u i64)
    (if (i64.lt_s (local.get $v) (i64.const 0))
      (then (local.set $neg (i32.const 1)) (local.set $u (i64.sub (i64.const 0) (local.get $v))))
      (else (local.set $u (local.get $v))))
    ;; digits backwards into 65900..65960 (unsigned division handles -2^63)
    (local.set $buf (i32.const 65960))
    (loop $d
      (local.set $buf (i32.sub (local.get $buf) (i32.const 1)))
      (i32.store8 (local.get $buf)
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $u) (i64.const 10)))))
      (local.set $u (i64.div_u (local.get $u) (i64.const 10)))
      (br_if $d (i64.ne (local.get $u) (i64.const 0))))
    (if (local.get $neg) (then (call $emit_byte (i32.const 45))))
    (call $emit (local.get $buf) (i32.sub (i32.const 65960) (local.get $buf))))

  (func $flush
    (local $len i32)
    (local.set $len (i32.sub (global.get $out) (i32.const 66000)))
    (i32.store (i32.const 0) (i32.const 66000))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16))))

  (func $error_text (param $code i32)
    (if (i32.eq (local.get $code) (i32.const 1)) (then (call $emit (i32.const 112) (i32.const 12))))
    (if (i32.eq (local.get $code) (i32.const 2)) (then (call $emit (i32.const 128) (i32.const 16))))
    (if (i32.eq (local.get $code) (i32.const 3)) (then (call $emit (i32.const 148) (i32.const 8))))
    (if (i32.eq (local.get $code) (i32.const 4)) (then (call $emit (i32.const 160) (i32.const 26))))
    (if (i32.eq (local.get $code) (i32.const 5)) (then (call $emit (i32.const 192) (i32.const 16))))
    (if (i32.eq (local.get $code) (i32.const 6)) (then (call $emit (i32.const 212) (i32.const 15))))
    (if (i32.eq (local.get $code) (i32.const 7)) (then (call $emit (i32.const 232) (i32.const 25)))))

  (func (export "_start")
    (local $v i64)
    (if (i32.eqz (call $locate (call $read_all)))
      (then (global.set $err (i32.const 4))))
    (if (i32.eqz (global.get $err))
      (then
        (local.set $v (call $expr))
        ;; trailing text after a complete expression is a syntax error
        (if (i32.and (i32.eqz (global.get $err)) (i32.ne (call $peek) (i32.const 0)))
          (then (global.set $err (i32.const 1))))))
    (if (global.get $err)
      (then
        (call $emit (i32.const 96) (i32.const 10))
        (call $error_text (global.get $err))
        (call $emit_byte (i32.const 34))
        (call $emit_byte (i32.const 125)))
      (else
        (call $emit (i32.const 80) (i32.const 10))
        (call $emit_i64 (local.get $v))
        (call $emit_byte (i32.const 125))))
    (call $emit_byte (i32.const 10))
    (call $flush))
)
