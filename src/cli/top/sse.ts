/** One Server-Sent Event: its fields, or a comment line. */
export interface SseEvent {
  id?: number;
  /** `message` when the event names none. */
  event: string;
  data: string;
  /** A comment line (`: ...`), e.g. a heartbeat; the other fields are empty then. */
  comment?: string;
  retry?: number;
}

/**
 * Reads Server-Sent Events from text as it arrives, in pieces cut anywhere:
 * each `push` returns the events its text completed.
 */
export class SseParser {
  #rest = '';

  push(text: string): SseEvent[] {
    const blocks = (this.#rest + text).replace(/\r\n?/g, '\n').split('\n\n');
    this.#rest = blocks.pop() ?? '';
    return blocks.map(parseBlock);
  }
}

function parseBlock(block: string): SseEvent {
  const event: SseEvent = { event: 'message', data: '' };
  const data: string[] = [];
  for (const line of block.split('\n')) {
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === '') event.comment = value;
    else if (field === 'id') event.id = Number(value);
    else if (field === 'event') event.event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'retry') event.retry = Number(value);
  }
  event.data = data.join('\n');
  return event;
}
