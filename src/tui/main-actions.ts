/** What a key does on the main screen, once keymap.ts has named its action. */
import type blessed from 'blessed';
import type { PayloadView } from './detail.js';
import { forwardAll, heldAction, toggleIntercept } from './intercept-actions.js';
import type { Action } from './keymap.js';
import type { AppContext } from './modes.js';
import { applyFilterText, openPrompt } from './prompts.js';
import { openFaultPrompt } from './fault-prompt.js';
import { closeSession, openInject, resend } from './traffic-actions.js';
import type { ViewState } from './view-state.js';

/** The app as the main screen's keys see it. */
export interface MainContext extends AppContext {
  payloadView: PayloadView;
  readonly screen: blessed.Widgets.Screen;
  requestQuit(): void;
}

export function mainAction(ctx: MainContext, view: ViewState, action: Action): void {
  view.syncCursors();
  switch (action) {
    case 'help':
      ctx.mode = { type: 'help', scroll: 0 };
      return;
    case 'quit':
      return ctx.requestQuit();
    case 'redraw':
      ctx.screen.realloc();
      return;
    case 'focus-next':
    case 'focus-prev':
      return view.cycleFocus(action === 'focus-next' ? 1 : -1);
    case 'filter':
      return openPrompt(ctx, 'filter');
    case 'intercept-filter':
      return openPrompt(ctx, 'intercept');
    case 'write':
      return openPrompt(ctx, 'write');
    case 'faults':
      return openFaultPrompt(ctx);
    case 'write-har':
      return openPrompt(ctx, 'har');
    case 'intercept-toggle':
      return toggleIntercept(ctx);
    case 'held-forward':
    case 'held-drop':
    case 'held-edit':
      return heldAction(ctx, action);
    case 'held-forward-all':
      return forwardAll(ctx);
    case 'inject':
      return openInject(ctx);
    case 'resend':
      return resend(ctx);
    case 'session-close':
      return closeSession(ctx);
    case 'session-filter': {
      const s = view.selectedSession();
      if (s === undefined) return;
      const text = ctx.store.filter.source === `session:${s.id}` ? '' : `session:${s.id}`;
      applyFilterText(ctx, text);
      ctx.say(text === '' ? 'showing all sessions' : `showing session #${s.id} only (f again shows all)`);
      return;
    }
    case 'clear': {
      const n = ctx.store.size;
      view.clearLog();
      ctx.say(`cleared ${n} rows`);
      return;
    }
    case 'pause':
      ctx.say(view.toggleFollow() ? 'following the tail' : 'paused: new frames are kept but the view stays (p or G to follow)');
      return;
    case 'payload-view': {
      const order: PayloadView[] = ['auto', 'hex', 'text'];
      ctx.payloadView = order[(order.indexOf(ctx.payloadView) + 1) % order.length]!;
      ctx.say(`payload view: ${ctx.payloadView}`);
      return;
    }
    case 'detail':
      return view.openDetail();
    case 'close-detail':
      return view.closeDetail();
    case 'up':
    case 'down':
    case 'page-up':
    case 'page-down':
    case 'top':
    case 'bottom':
      return view.navigate(action);
    case 'save':
    case 'cancel':
    case 'accept':
    case 'history-prev':
    case 'history-next':
    case 'next-field':
    case 'prev-field':
    case 'option-next':
    case 'option-prev':
    case 'yes':
    case 'no':
    case 'text':
      return;
  }
}
