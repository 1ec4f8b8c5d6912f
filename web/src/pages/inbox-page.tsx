import { useEffect, useState } from 'react';
import { api } from '../api-client.ts';
import { ApprovalsPage, TasksPage } from './work-pages.tsx';
import { ReviewInbox } from './reviews-page.tsx';

export interface InboxCounts { approvals: number; reviews: number; tasks: number }

/** Dispatched after a decision or a closed task, so the menu's counts follow at once. */
export const WORK_CHANGED = 'jml:work-changed';

/** What waits on the signed-in person, read again on every navigation and each minute; null until known or when signed out. */
export function useInboxCounts(routeKey: string | null): InboxCounts | null {
  const [counts, setCounts] = useState<InboxCounts | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const again = () => setTick((t) => t + 1);
    const timer = setInterval(again, 60_000);
    window.addEventListener(WORK_CHANGED, again);
    return () => {
      clearInterval(timer);
      window.removeEventListener(WORK_CHANGED, again);
    };
  }, []);
  useEffect(() => {
    if (routeKey === null) return setCounts(null);
    let live = true;
    api<InboxCounts>('GET', '/api/inbox').then((c) => live && setCounts(c)).catch(() => live && setCounts(null));
    return () => {
      live = false;
    };
  }, [routeKey, tick]);
  return counts;
}

/**
 * What a person owes, in one place: access review items to decide (shown when
 * any wait), approvals to decide, then tasks to close with evidence.
 */
export function InboxPage() {
  return (
    <div className="stack">
      <ReviewInbox hideWhenEmpty />
      <ApprovalsPage />
      <TasksPage />
    </div>
  );
}
