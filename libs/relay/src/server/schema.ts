/**
 * The relay database's tables and the statements run against them. One
 * schema version; a database of another version is refused rather than
 * migrated blindly.
 */
import type Database from 'better-sqlite3'

export const SCHEMA_VERSION = 1

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY,
  public_key TEXT NOT NULL,
  prekey_id INTEGER NOT NULL,
  prekey_public TEXT NOT NULL,
  prekey_created INTEGER NOT NULL,
  prekey_signature TEXT NOT NULL,
  seen_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  recipient TEXT NOT NULL,
  sender TEXT NOT NULL,
  msg_id TEXT NOT NULL,
  context TEXT NOT NULL,
  body TEXT NOT NULL,
  stored_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  UNIQUE (recipient, sender, msg_id)
);
CREATE INDEX IF NOT EXISTS messages_by_recipient ON messages (recipient, seq);
CREATE INDEX IF NOT EXISTS messages_by_expiry ON messages (expires_at);
CREATE TABLE IF NOT EXISTS rooms (
  id TEXT PRIMARY KEY,
  creator TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  max_members INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rooms_by_expiry ON rooms (expires_at);
CREATE TABLE IF NOT EXISTS room_members (
  room_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  joined_at INTEGER NOT NULL,
  PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS room_members_by_user ON room_members (user_id, room_id);
CREATE TABLE IF NOT EXISTS contacts (
  user_id TEXT NOT NULL,
  peer_id TEXT NOT NULL,
  PRIMARY KEY (user_id, peer_id)
) WITHOUT ROWID;
`

/** Every statement the store runs. */
const STATEMENTS = {
  insertMessage: `INSERT OR IGNORE INTO messages (recipient, sender, msg_id, context, body, stored_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  findMessage: 'SELECT seq FROM messages WHERE recipient = ? AND sender = ? AND msg_id = ?',
  deleteMessage: `DELETE FROM messages WHERE recipient = ? AND sender = ? AND msg_id = ?
     RETURNING seq, recipient, sender, msg_id AS id`,
  deleteBySeq: 'DELETE FROM messages WHERE seq = ? AND recipient = ?',
  queuedFor: `SELECT m.seq, m.recipient, m.sender, m.msg_id AS id, m.context, m.body, m.stored_at AS storedAt,
            m.expires_at AS expiresAt, u.public_key AS senderKey
     FROM messages m JOIN users u ON u.id = m.sender
     WHERE m.recipient = ? AND m.seq > ? AND m.expires_at > ?
     ORDER BY m.seq LIMIT ?`,
  queueCounts: 'SELECT recipient, COUNT(*) AS n FROM messages GROUP BY recipient',
  deleteExpired: `DELETE FROM messages WHERE seq IN (SELECT seq FROM messages WHERE expires_at <= ? LIMIT ?)
     RETURNING seq, recipient, sender, msg_id AS id`,
  upsertUser: `INSERT INTO users (id, public_key, prekey_id, prekey_public, prekey_created, prekey_signature, seen_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET public_key = excluded.public_key, prekey_id = excluded.prekey_id,
       prekey_public = excluded.prekey_public, prekey_created = excluded.prekey_created,
       prekey_signature = excluded.prekey_signature, seen_at = excluded.seen_at`,
  touchUser: 'UPDATE users SET seen_at = ? WHERE id = ?',
  getUser: 'SELECT * FROM users WHERE id = ?',
  hasUser: 'SELECT 1 FROM users WHERE id = ?',
  pruneUsers: `DELETE FROM users WHERE seen_at < ?
       AND NOT EXISTS (SELECT 1 FROM messages WHERE recipient = users.id)
       AND NOT EXISTS (SELECT 1 FROM room_members WHERE user_id = users.id)`,
  addContact: 'INSERT OR IGNORE INTO contacts (user_id, peer_id) VALUES (?, ?)',
  contactsOf: 'SELECT peer_id FROM contacts WHERE user_id = ? LIMIT ?',
  isContact: 'SELECT 1 FROM contacts WHERE user_id = ? AND peer_id = ?',
  createRoom: 'INSERT INTO rooms (id, creator, created_at, expires_at, max_members) VALUES (?, ?, ?, ?, ?)',
  getRoom: 'SELECT * FROM rooms WHERE id = ?',
  setRoomExpiry: 'UPDATE rooms SET expires_at = ? WHERE id = ?',
  deleteRoom: 'DELETE FROM rooms WHERE id = ?',
  deleteMembers: 'DELETE FROM room_members WHERE room_id = ?',
  members: 'SELECT user_id FROM room_members WHERE room_id = ? ORDER BY joined_at, user_id',
  memberKeys: `SELECT u.* FROM room_members m JOIN users u ON u.id = m.user_id
     WHERE m.room_id = ? ORDER BY m.joined_at, m.user_id`,
  isMember: 'SELECT 1 FROM room_members WHERE room_id = ? AND user_id = ?',
  memberCount: 'SELECT COUNT(*) AS n FROM room_members WHERE room_id = ?',
  addMember: 'INSERT OR IGNORE INTO room_members (room_id, user_id, joined_at) VALUES (?, ?, ?)',
  removeMember: 'DELETE FROM room_members WHERE room_id = ? AND user_id = ?',
  roomCountOf: 'SELECT COUNT(*) AS n FROM room_members WHERE user_id = ?',
  roomCount: 'SELECT COUNT(*) AS n FROM rooms',
  roomPeersOf: `SELECT DISTINCT o.user_id FROM room_members m JOIN room_members o ON o.room_id = m.room_id
     WHERE m.user_id = ? AND o.user_id != ? LIMIT ?`,
  expiredRooms: 'SELECT id FROM rooms WHERE expires_at <= ? LIMIT ?',
} as const

export type Statements = { readonly [K in keyof typeof STATEMENTS]: Database.Statement }

/** Prepares every statement once. */
export function prepare(db: Database.Database): Statements {
  const out: Record<string, Database.Statement> = {}
  for (const [name, sql] of Object.entries(STATEMENTS)) out[name] = db.prepare(sql)
  return out as Statements
}
