const SPACE = 0x20;
const NEWLINE = 0x0a;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/**
 * A cursor over the bytes of a /proc file. One instance is reused for every
 * file of a sweep so that scanning numbers allocates nothing.
 */
export class ByteScanner {
  private bytes: Uint8Array = new Uint8Array(0);
  /** Exclusive end of the readable bytes. */
  end = 0;
  /** Next byte to read. */
  pos = 0;

  reset(bytes: Uint8Array, start: number, end: number): this {
    this.bytes = bytes;
    this.pos = start;
    this.end = Math.min(end, bytes.length);
    return this;
  }

  /**
   * Reads an unsigned decimal integer at the cursor; -1 when the cursor is not
   * on a digit. Exact up to 2^53, far above anything /proc prints here.
   */
  uint(): number {
    const { bytes, end } = this;
    let pos = this.pos;
    let value = 0;
    while (pos < end) {
      const byte = bytes[pos] ?? 0;
      if (byte < DIGIT_0 || byte > DIGIT_9) break;
      value = value * 10 + (byte - DIGIT_0);
      pos++;
    }
    if (pos === this.pos) return -1;
    this.pos = pos;
    return value;
  }

  /** Consumes one space; false when the cursor is elsewhere. */
  space(): boolean {
    if (this.pos < this.end && this.bytes[this.pos] === SPACE) {
      this.pos++;
      return true;
    }
    return false;
  }

  /** Skips a token up to the next space or newline; false when it is empty. */
  skipToken(): boolean {
    const { bytes, end } = this;
    const start = this.pos;
    let pos = start;
    while (pos < end) {
      const byte = bytes[pos];
      if (byte === SPACE || byte === NEWLINE) break;
      pos++;
    }
    this.pos = pos;
    return pos > start;
  }

  /** The byte at the cursor without consuming it; -1 at the end. */
  peek(): number {
    return this.pos < this.end ? (this.bytes[this.pos] ?? -1) : -1;
  }

  /** True when only a newline (or nothing) is left. */
  atLineEnd(): boolean {
    return this.pos >= this.end || this.bytes[this.pos] === NEWLINE;
  }

  /** Index of the last `byte` in [pos, end), -1 when absent (native search: lines can be long). */
  lastIndexOf(byte: number): number {
    if (this.end <= this.pos) return -1;
    const at = this.bytes.lastIndexOf(byte, this.end - 1);
    return at >= this.pos ? at : -1;
  }

  /** Index of the first `byte` in [pos, end), -1 when absent. */
  indexOf(byte: number): number {
    const at = this.bytes.indexOf(byte, this.pos);
    return at >= 0 && at < this.end ? at : -1;
  }
}
