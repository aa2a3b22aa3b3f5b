/**
 * What a client must check in a 101 before it uses the connection (RFC 6455 §4.1, "the client
 * MUST _Fail the WebSocket Connection_" otherwise), besides Sec-WebSocket-Accept (verifyAccept).
 * The proxy relays the answer as it came, so a client that does not check is seen to accept it:
 * these say what a conforming client would have refused. Pure: heads in, sentences out.
 */
import { header, headerTokens, parseExtensions, parseProtocols, type HttpHead } from './handshake.js';

/** `request`: the upgrade as the target received it; `response`: its 101. */
export function handshakeProblems(request: HttpHead, response: HttpHead): string[] {
  const problems: string[] = [];
  // §4.1 item 2 and 3: "Upgrade" with the value "websocket", and "Connection" with "Upgrade".
  if (!headerTokens(response, 'upgrade').includes('websocket')) problems.push('the 101 has no "Upgrade: websocket" (RFC 6455 §4.1)');
  if (!headerTokens(response, 'connection').includes('upgrade')) problems.push('the 101 has no "Connection: Upgrade" (RFC 6455 §4.1)');
  // §4.1 item 5: an extension not present in the client's handshake.
  const answered = header(response, 'sec-websocket-extensions');
  if (answered !== null) {
    const offered = new Set((parseExtensions(header(request, 'sec-websocket-extensions') ?? '') ?? []).map((e) => e.name.toLowerCase()));
    for (const e of parseExtensions(answered) ?? []) {
      if (!offered.has(e.name.toLowerCase())) problems.push(`the server accepted the extension ${e.name}, which the client did not offer (RFC 6455 §4.1)`);
    }
  }
  // §4.1 item 6: a subprotocol that was not in the client's handshake.
  const protocol = header(response, 'sec-websocket-protocol')?.trim() ?? null;
  if (protocol !== null && !parseProtocols(header(request, 'sec-websocket-protocol') ?? '').includes(protocol)) problems.push(`the server chose the subprotocol ${protocol}, which the client did not offer (RFC 6455 §4.1)`);
  return problems;
}
