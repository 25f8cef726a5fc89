// Just enough H.264 (Annex B) parsing for the wire checks of the relay: is an access unit a
// reference picture, and which `frame_num` does its slice carry. A decoder finds a missing
// reference the same way: a picture whose `frame_num` is not the previous reference's + 1
// follows a gap (ITU-T H.264, 7.4.3 "frame_num"). Reads only the first bytes of a unit.

/** What the start of one access unit says. */
export interface UnitStart {
  /** `log2_max_frame_num` of an SPS in the unit (keyframes carry theirs in band). */
  log2MaxFrameNum?: number;
  /** The first slice's `nal_ref_idc` is not 0: later pictures may predict from this one. */
  reference?: boolean;
  /** The first slice's `frame_num` (needs `log2MaxFrameNum`, from this unit or an earlier one). */
  frameNum?: number;
}

/** Exp-Golomb / fixed-width bit reader over an RBSP (emulation prevention removed). */
class Bits {
  private pos = 0;
  constructor(private data: Uint8Array) {}

  bit(): number {
    const byte = this.pos >> 3;
    if (byte >= this.data.length) throw new RangeError("past the bytes read");
    const b = (this.data[byte] >> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return b;
  }

  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }

  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) {
      if (++zeros > 31) throw new RangeError("exp-Golomb code too long");
    }
    return 2 ** zeros - 1 + this.bits(zeros);
  }
}

/** A NAL unit's payload without its header byte and with `00 00 03` emulation bytes removed. */
function rbsp(nal: Uint8Array): Uint8Array {
  const out: number[] = [];
  let zeros = 0;
  for (let i = 1; i < nal.length; i++) {
    const b = nal[i];
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out.push(b);
  }
  return Uint8Array.from(out);
}

/** Profiles whose SPS carries chroma format and bit depths before `log2_max_frame_num`. */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** `log2_max_frame_num` of an SPS, or undefined when it has scaling matrices (not read here). */
function spsLog2MaxFrameNum(nal: Uint8Array): number | undefined {
  const r = new Bits(rbsp(nal));
  const profile = r.bits(8);
  r.bits(16); // constraint flags, level
  r.ue(); // seq_parameter_set_id
  if (HIGH_PROFILES.has(profile)) {
    if (r.ue() === 3) r.bit(); // chroma_format_idc, separate_colour_plane_flag
    r.ue(); // bit_depth_luma_minus8
    r.ue(); // bit_depth_chroma_minus8
    r.bit(); // qpprime_y_zero_transform_bypass_flag
    if (r.bit() === 1) return undefined; // seq_scaling_matrix_present_flag
  }
  return r.ue() + 4;
}

/** The NAL units that start in `bytes` (4- or 3-byte start codes), possibly cut at its end. */
function nalUnits(bytes: Uint8Array): Uint8Array[] {
  const starts: number[] = [];
  for (let i = 0; i + 2 < bytes.length; i++) {
    if (bytes[i] === 0 && bytes[i + 1] === 0 && bytes[i + 2] === 1) {
      starts.push(i + 3);
      i += 2;
    }
  }
  // Only the start of each unit is read, so a 4-byte start code's leading zero left at
  // the end of the unit before it does not matter.
  return starts.map((s, k) => bytes.subarray(s, k + 1 < starts.length ? starts[k + 1] - 3 : bytes.length));
}

/** Reads the start of an access unit; `log2MaxFrameNum` is the stream's from an earlier SPS. */
export function unitStart(bytes: Uint8Array, log2MaxFrameNum?: number): UnitStart {
  const out: UnitStart = {};
  let log2 = log2MaxFrameNum;
  for (const nal of nalUnits(bytes)) {
    if (nal.length === 0) continue;
    const type = nal[0] & 0x1f;
    try {
      if (type === 7) {
        out.log2MaxFrameNum = spsLog2MaxFrameNum(nal);
        log2 = out.log2MaxFrameNum;
      } else if (type === 1 || type === 5) {
        out.reference = ((nal[0] >> 5) & 3) !== 0;
        if (log2 !== undefined) {
          const r = new Bits(rbsp(nal));
          r.ue(); // first_mb_in_slice
          r.ue(); // slice_type
          r.ue(); // pic_parameter_set_id
          out.frameNum = r.bits(log2);
        }
        return out;
      }
    } catch {
      return out; // the unit is cut before the field: leave it undefined
    }
  }
  return out;
}

/** Whether a delta picture with `frameNum` continues the references a viewer holds: its
 * `frame_num` is the newest received reference picture's (`lastRefFrameNum`) + 1, mod
 * 2^log2MaxFrameNum, as H.264 requires when no reference is missing. */
export function continuesReferences(lastRefFrameNum: number, frameNum: number, log2MaxFrameNum: number): boolean {
  return frameNum === (lastRefFrameNum + 1) % 2 ** log2MaxFrameNum;
}
