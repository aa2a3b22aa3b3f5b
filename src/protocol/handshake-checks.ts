/**
 * What a client must check in a 101 before it uses the connection (RFC 6455 §4.1, "the client
 * MUST _Fail the WebSocket Connection_" otherwise), besides Sec-WebSocket-Accept (verifyAccept).
 * The proxy relays the answer as it came, so a client that does not check is seen to accept it:
 * these say what a conforming client would have refused. Pure: heads in, sentences out.
 */
import { header, parseExtensions, type HttpHead } from './handshake.js';

/** Every value of a header, split at commas, trimmed, empty ones left out. */
function listValues(head: HttpHead, name: string): string[] {
  const lower = name.toLowerCase();
  return head.headers.filter(([n]) => n.toLowerCase() === lower).flatMap(([, v]) => v.split(',').map((x) => x.trim()).filter((x) => x !== ''));
}

/** `request`: the upgrade as the target received it; `response`: its 101. */
export function handshakeProblems(request: HttpHead, response: HttpHead): string[] {
  const problems: string[] = [];
  // §4.1 item 2 and 3: "Upgrade" with the value "websocket", and "Connection" with "Upgrade".
  if (!listValues(response, 'upgrade').some((v) => v.toLowerCase() === 'websocket')) problems.push('the 101 has no "Upgrade: websocket" (RFC 6455 §4.1)');
  if (!listValues(response, 'connection').some((v) => v.toLowerCase() === 'upgrade')) problems.push('the 101 has no "Connection: Upgrade" (RFC 6455 §4.1)');
  // §4.1 item 5: an extension not present in the client's handshake.
  const answered = header(response, 'sec-websocket-extensions');
  if (answered !== null) {
    const offered = new Set((parseExtensions(listValues(request, 'sec-websocket-extensions').join(', ')) ?? []).map((e) => e.name.toLowerCase()));
    for (const e of parseExtensions(answered) ?? []) {
      if (!offered.has(e.name.toLowerCase())) problems.push(`the server accepted the extension ${e.name}, which the client did not offer (RFC 6455 §4.1)`);
    }
  }
  // §4.1 item 6: a subprotocol that was not in the client's handshake.
  const protocol = header(response, 'sec-websocket-protocol');
  if (protocol !== null && !listValues(request, 'sec-websocket-protocol').includes(protocol.trim())) problems.push(`the server chose the subprotocol ${protocol.trim()}, which the client did not offer (RFC 6455 §4.1)`);
  return problems;
}
