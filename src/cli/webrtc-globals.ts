// What PeerJS looks for in a browser, provided in Node for a terminal joiner: WebRTC from @roamhq/wrtc
// (its Linux binary comes inside a registry package), WebSocket from ws, and the few browser globals
// PeerJS reads (`window`, `navigator`; `location` for isSecure and a default host). PeerJS reads them
// once, as it loads, so this runs before peer-link.ts first loads it (loadPeer).
import type { SignalingServer } from '../net/peer-link.ts';

export async function installWebRtcGlobals(signaling: SignalingServer): Promise<void> {
  // A CommonJS module: Node's ESM names only some of its exports; the default is all of them.
  const wrtc = ((await import('@roamhq/wrtc')) as { default: typeof import('@roamhq/wrtc') }).default;
  const { WebSocket } = await import('ws');
  /**
   * A browser's WebSocket reports a failure as events; ws's throws an 'error' nobody listens to, e.g. when
   * PeerJS gives up on a slow signaling server and closes the socket while it connects (a join that
   * times out must say so and exit 1, not crash). PeerJS listens for the close that follows.
   */
  class BrowserWebSocket extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      this.on('error', () => {});
    }
  }
  const g = globalThis as Record<string, unknown>;
  Object.assign(g, {
    RTCPeerConnection: wrtc.RTCPeerConnection,
    RTCSessionDescription: wrtc.RTCSessionDescription,
    RTCIceCandidate: wrtc.RTCIceCandidate,
    WebSocket: BrowserWebSocket,
    window: globalThis,
    location: { protocol: signaling.secure ? 'https:' : 'http:', hostname: signaling.host },
  });
  // Node 21+ has a navigator of its own (read-only); Node 20 has none.
  if (!('navigator' in g)) g.navigator = { platform: process.platform, userAgent: `node/${process.version}` };
}
