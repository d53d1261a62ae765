/* deliver.h — the job protocol between yubin-qmgr and its delivery agents
 * (yubin-local, yubin-remote). Agents are long-running children of qmgr,
 * talking on their stdin (jobs) and stdout (results), one line each:
 *
 *   qmgr -> agent:  "<job> <qid> <index>\n"
 *        deliver recipient <index> (0-based, as in the envelope) of the
 *        message queue/active/<qid>; the agent reads sender, recipient and
 *        message from that file itself, so no envelope data crosses here.
 *   agent -> qmgr:  "<job> <K|Z|D> <x.y.z> <text>\n"
 *        K delivered, Z temporary failure (retry), D permanent failure
 *        (bounce); x.y.z the enhanced status code; text one line, no CR/LF,
 *        at most DELIVER_TEXT_MAX bytes (a remote server's reply included).
 *
 * <job> is qmgr's decimal job number. Results may come back in any order.
 * An agent that exits mid-job leaves those jobs unanswered; qmgr retries
 * them, and delivery is idempotent (Maildir names come from qid+recipient). */
#ifndef YUBIN_DELIVER_H
#define YUBIN_DELIVER_H

#define DELIVER_LINE_MAX 1200
#define DELIVER_TEXT_MAX 1000

#endif
