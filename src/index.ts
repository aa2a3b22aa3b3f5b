/**
 * The public API of the `wsproxy` package: `defineScript` for --script files, `createProxy` to
 * run the proxy from code, and the types of both.
 */
export { defineScript } from './script/define-script.js';
export type {
  Script,
  ScriptBytes,
  ScriptCloseInfo,
  ScriptContext,
  ScriptDrop,
  ScriptFault,
  ScriptFrame,
  ScriptFrameOut,
  ScriptHead,
  ScriptHookName,
  ScriptMessage,
  ScriptResult,
  ScriptSend,
  ScriptSession,
  ScriptStreamedInfo,
  ScriptTimer,
  Side,
} from './script/define-script.js';

export { createProxy } from './proxy/server.js';
export type { ProxyOptions, RunningProxy } from './proxy/server.js';
export type { InjectKind, InjectRequest, ProxyControl, SessionControl, SessionState } from './proxy/control.js';
export type {
  CloseRecord,
  FrameOrigin,
  FrameRecord,
  LogRecord,
  MessageFate,
  MessageKind,
  MessageRecord,
  ProxyBus,
  ProxyEvents,
  SessionInfo,
  ViolationRecord,
} from './proxy/events.js';
export type { HeldMessage, MessageInterceptor, MessageMeta, OutMessage, Verdict } from './intercept/verdict.js';
export type { FaultRuleObject } from './fault/rule.js';
export type { FaultRecord, ReconnectRecord } from './proxy/events.js';
export type { DeflateParams } from './protocol/deflate-params.js';
export type { HttpHead } from './protocol/handshake.js';
export type { FrameKind } from './protocol/constants.js';
export type { Violation, ViolationCode } from './protocol/violations.js';
