/**
 * A tiny ONNX ModelProto writer: protobuf wire format by hand, no Python, no protobuf
 * library. Enough of onnx.proto to build real small graphs with fixed weights for tests
 * and the dev set-up: ModelProto, GraphProto, NodeProto (+ attributes), TensorProto
 * initializers (float32 / int64 / int32), ValueInfoProto with numeric or symbolic dims,
 * and opset imports.
 *
 * Field numbers follow onnx/onnx.proto (IR version 8).
 */

// ---------------------------------------------------------------------------------------
// Protobuf wire format

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** Appends protobuf fields to a growable byte buffer. */
class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private rawByte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  /** Unsigned or two's-complement varint of a (safe) integer or bigint. */
  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      this.rawByte(byte);
    } while (v !== 0n);
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.varint(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  int(field: number, v: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.varint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, WIRE_I32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.ensure(4);
    this.buf.set(b, this.len);
    this.len += 4;
    return this;
  }

  message(field: number, m: ProtoWriter): this {
    return this.bytes(field, m.finish());
  }

  /** Packed repeated varints. */
  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

// ---------------------------------------------------------------------------------------
// ONNX model description

/** TensorProto.DataType values used here. */
export const OnnxDataType = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7 } as const;
export type OnnxDType = keyof typeof OnnxDataType;

/** A dimension: a fixed size or a symbolic name (dynamic). */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  dtype: OnnxDType;
  shape: readonly Dim[];
}

export type AttributeValue =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'ints'; value: readonly number[] };

export interface NodeSpec {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  attributes?: Readonly<Record<string, AttributeValue>>;
}

export interface InitializerSpec {
  name: string;
  dtype: 'float32' | 'int64' | 'int32';
  dims: readonly number[];
  values: ArrayLike<number>;
}

export interface ModelSpec {
  graphName: string;
  inputs: readonly ValueInfo[];
  outputs: readonly ValueInfo[];
  nodes: readonly NodeSpec[];
  initializers?: readonly InitializerSpec[];
  /** Default-domain opset version. Default 17. */
  opset?: number;
  /** Default 8. */
  irVersion?: number;
  producerName?: string;
  docString?: string;
}

// AttributeProto.AttributeType
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_FLOATS = 6;
const ATTR_INTS = 7;

function attribute(name: string, a: AttributeValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  switch (a.kind) {
    case 'float':
      w.float(2, a.value).int(20, ATTR_FLOAT);
      break;
    case 'int':
      w.int(3, a.value).int(20, ATTR_INT);
      break;
    case 'string':
      w.string(4, a.value).int(20, ATTR_STRING);
      break;
    case 'floats':
      for (const f of a.value) w.float(7, f);
      w.int(20, ATTR_FLOATS);
      break;
    case 'ints':
      w.packedInts(8, a.value).int(20, ATTR_INTS);
      break;
  }
  return w;
}

function node(n: NodeSpec, index: number): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name ?? `${n.opType}_${index}`);
  w.string(4, n.opType);
  for (const [k, v] of Object.entries(n.attributes ?? {})) w.message(5, attribute(k, v));
  return w;
}

function tensor(t: InitializerSpec): ProtoWriter {
  const w = new ProtoWriter();
  if (t.dims.length > 0) w.packedInts(1, t.dims);
  w.int(2, OnnxDataType[t.dtype]);
  w.string(8, t.name);
  const n = t.dims.reduce((a, b) => a * b, 1);
  if (t.values.length !== n) throw new RangeError(`initializer ${t.name}: ${t.values.length} values for ${n} elements`);
  let raw: Uint8Array;
  if (t.dtype === 'float32') {
    const f = Float32Array.from(t.values);
    raw = new Uint8Array(f.buffer);
  } else if (t.dtype === 'int32') {
    const f = Int32Array.from(t.values);
    raw = new Uint8Array(f.buffer);
  } else {
    const f = BigInt64Array.from(Array.from(t.values, (v) => BigInt(v)));
    raw = new Uint8Array(f.buffer);
  }
  // raw_data is little-endian, which is the host order on every platform Node runs on here.
  w.bytes(9, raw);
  return w;
}

function valueInfo(v: ValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.shape) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter().int(1, OnnxDataType[v.dtype]).message(2, shape);
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, v.name).message(2, type);
}

/** Serialises a model to ONNX bytes that onnxruntime can load. */
export function buildOnnxModel(spec: ModelSpec): Uint8Array {
  const graph = new ProtoWriter();
  spec.nodes.forEach((n, i) => graph.message(1, node(n, i)));
  graph.string(2, spec.graphName);
  for (const t of spec.initializers ?? []) graph.message(5, tensor(t));
  for (const i of spec.inputs) graph.message(11, valueInfo(i));
  for (const o of spec.outputs) graph.message(12, valueInfo(o));

  const model = new ProtoWriter();
  model.int(1, spec.irVersion ?? 8);
  model.string(2, spec.producerName ?? 'dfd-onnx-builder');
  model.string(3, '1');
  if (spec.docString) model.string(6, spec.docString);
  model.message(7, graph);
  model.message(8, new ProtoWriter().string(1, '').int(2, spec.opset ?? 17));
  return model.finish();
}

/** Attribute helpers, to keep graph definitions short. */
export const attr = {
  f: (value: number): AttributeValue => ({ kind: 'float', value }),
  i: (value: number): AttributeValue => ({ kind: 'int', value }),
  s: (value: string): AttributeValue => ({ kind: 'string', value }),
  fs: (value: readonly number[]): AttributeValue => ({ kind: 'floats', value }),
  is: (value: readonly number[]): AttributeValue => ({ kind: 'ints', value }),
};
