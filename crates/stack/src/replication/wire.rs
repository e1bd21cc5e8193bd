//! Just enough of the MySQL client/server protocol for the forwarding proxy: packets, the
//! handshake's capability flags, where a command's response ends, and the OK and ERR packets it
//! makes up itself.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub const COM_QUIT: u8 = 0x01;
pub const COM_QUERY: u8 = 0x03;
pub const COM_STMT_PREPARE: u8 = 0x16;
pub const COM_STMT_EXECUTE: u8 = 0x17;
pub const COM_STMT_SEND_LONG_DATA: u8 = 0x18;
pub const COM_STMT_CLOSE: u8 = 0x19;
pub const COM_STMT_RESET: u8 = 0x1a;

pub const CLIENT_CONNECT_WITH_DB: u32 = 1 << 3;
pub const CLIENT_COMPRESS: u32 = 1 << 5;
pub const CLIENT_SSL: u32 = 1 << 11;
pub const CLIENT_SECURE_CONNECTION: u32 = 1 << 15;
pub const CLIENT_PLUGIN_AUTH: u32 = 1 << 19;
pub const CLIENT_CONNECT_ATTRS: u32 = 1 << 20;
pub const CLIENT_PLUGIN_AUTH_LENENC: u32 = 1 << 21;
pub const CLIENT_DEPRECATE_EOF: u32 = 1 << 24;

pub const SERVER_STATUS_IN_TRANS: u16 = 0x0001;
pub const SERVER_STATUS_AUTOCOMMIT: u16 = 0x0002;
const SERVER_MORE_RESULTS_EXISTS: u16 = 0x0008;

const MAX_PAYLOAD: usize = 0xff_ffff;

/// One logical packet: its payload (continuations joined) and the sequence number of its first
/// part.
#[derive(Clone, Debug)]
pub struct Packet {
    pub seq: u8,
    pub payload: Vec<u8>,
}

impl Packet {
    pub fn first_byte(&self) -> u8 {
        self.payload.first().copied().unwrap_or(0)
    }

    pub fn is_err(&self) -> bool {
        self.first_byte() == 0xff
    }
}

pub async fn read_packet(stream: &mut (impl AsyncRead + Unpin)) -> io::Result<Packet> {
    let mut payload = Vec::new();
    let mut first_seq = None;
    loop {
        let mut header = [0u8; 4];
        stream.read_exact(&mut header).await?;
        let length =
            usize::from(header[0]) | (usize::from(header[1]) << 8) | (usize::from(header[2]) << 16);
        first_seq.get_or_insert(header[3]);
        let start = payload.len();
        payload.resize(start + length, 0);
        stream.read_exact(&mut payload[start..]).await?;
        if length < MAX_PAYLOAD {
            return Ok(Packet {
                seq: first_seq.unwrap_or(header[3]),
                payload,
            });
        }
    }
}

pub async fn write_packet(
    stream: &mut (impl AsyncWrite + Unpin),
    seq: u8,
    payload: &[u8],
) -> io::Result<()> {
    let mut bytes = Vec::with_capacity(payload.len() + 4);
    let mut seq = seq;
    let mut chunks = payload.chunks(MAX_PAYLOAD).peekable();
    if chunks.peek().is_none() {
        bytes.extend_from_slice(&[0, 0, 0, seq]);
    }
    while let Some(chunk) = chunks.next() {
        let length = chunk.len();
        bytes.extend_from_slice(&[length as u8, (length >> 8) as u8, (length >> 16) as u8, seq]);
        bytes.extend_from_slice(chunk);
        seq = seq.wrapping_add(1);
        if length == MAX_PAYLOAD && chunks.peek().is_none() {
            bytes.extend_from_slice(&[0, 0, 0, seq]);
        }
    }
    stream.write_all(&bytes).await
}

pub async fn write_all_packets(
    stream: &mut (impl AsyncWrite + Unpin),
    packets: &[Packet],
) -> io::Result<()> {
    for packet in packets {
        write_packet(stream, packet.seq, &packet.payload).await?;
    }
    Ok(())
}

/// A length-encoded integer at `at`: its value and the offset after it.
pub fn lenenc_int(bytes: &[u8], at: usize) -> Option<(u64, usize)> {
    let first = *bytes.get(at)?;
    let width = match first {
        0xfc => 2,
        0xfd => 3,
        0xfe => 8,
        0xfb | 0xff => return None,
        small => return Some((u64::from(small), at + 1)),
    };
    let raw = bytes.get(at + 1..at + 1 + width)?;
    let value = raw
        .iter()
        .rev()
        .fold(0u64, |value, byte| (value << 8) | u64::from(*byte));
    Some((value, at + 1 + width))
}

/// The status flags of an OK packet (header 0x00, or 0xFE ending a result set).
fn ok_status(payload: &[u8]) -> u16 {
    let status_at = lenenc_int(payload, 1)
        .and_then(|(_, at)| lenenc_int(payload, at))
        .map(|(_, at)| at);
    status_at
        .and_then(|at| payload.get(at..at + 2))
        .map_or(0, |raw| u16::from_le_bytes([raw[0], raw[1]]))
}

/// The status flags of the packet ending a result set: an EOF packet, or with
/// `CLIENT_DEPRECATE_EOF` an OK packet.
fn end_status(payload: &[u8], deprecate_eof: bool) -> u16 {
    if deprecate_eof {
        ok_status(payload)
    } else {
        payload
            .get(3..5)
            .map_or(0, |raw| u16::from_le_bytes([raw[0], raw[1]]))
    }
}

/// What a command answers, which says where its response ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// COM_QUERY, COM_STMT_EXECUTE: OK, ERR, or result sets.
    Results,
    /// COM_STMT_PREPARE: ERR, or the statement, its parameters and its columns.
    Prepared,
    /// One packet (COM_PING, COM_INIT_DB, COM_STMT_RESET, ...).
    Single,
}

/// Reads a whole response to one command.
pub async fn read_response(
    stream: &mut (impl AsyncRead + Unpin),
    answer: Answer,
    capabilities: u32,
) -> io::Result<Vec<Packet>> {
    let deprecate_eof = capabilities & CLIENT_DEPRECATE_EOF != 0;
    let mut packets = Vec::new();
    match answer {
        Answer::Single => packets.push(read_packet(stream).await?),
        Answer::Prepared => {
            let first = read_packet(stream).await?;
            let counts = (!first.is_err())
                .then(|| first.payload.get(5..9).map(<[u8]>::to_vec))
                .flatten();
            packets.push(first);
            if let Some(counts) = counts {
                let columns = u16::from_le_bytes([counts[0], counts[1]]);
                let parameters = u16::from_le_bytes([counts[2], counts[3]]);
                for count in [parameters, columns] {
                    if count > 0 {
                        for _ in 0..count {
                            packets.push(read_packet(stream).await?);
                        }
                        if !deprecate_eof {
                            packets.push(read_packet(stream).await?);
                        }
                    }
                }
            }
        }
        Answer::Results => loop {
            let first = read_packet(stream).await?;
            let status = match first.first_byte() {
                0xff => {
                    packets.push(first);
                    return Ok(packets);
                }
                0xfb => {
                    return Err(io::Error::other(
                        "LOAD DATA LOCAL INFILE is not supported through the proxy",
                    ))
                }
                0x00 => {
                    let status = ok_status(&first.payload);
                    packets.push(first);
                    status
                }
                _ => {
                    let (columns, _) = lenenc_int(&first.payload, 0)
                        .ok_or_else(|| io::Error::other("a malformed column count"))?;
                    packets.push(first);
                    for _ in 0..columns {
                        packets.push(read_packet(stream).await?);
                    }
                    if !deprecate_eof {
                        packets.push(read_packet(stream).await?);
                    }
                    loop {
                        let row = read_packet(stream).await?;
                        let byte = row.first_byte();
                        let ends = byte == 0xfe && row.payload.len() < MAX_PAYLOAD;
                        let failed = byte == 0xff;
                        let status = if ends {
                            end_status(&row.payload, deprecate_eof)
                        } else {
                            0
                        };
                        packets.push(row);
                        if failed {
                            return Ok(packets);
                        }
                        if ends {
                            break status;
                        }
                    }
                }
            };
            if status & SERVER_MORE_RESULTS_EXISTS == 0 {
                return Ok(packets);
            }
        },
    }
    Ok(packets)
}

/// An OK packet with `status`.
pub fn ok_packet(status: u16) -> Vec<u8> {
    let mut payload = vec![0x00, 0, 0];
    payload.extend_from_slice(&status.to_le_bytes());
    payload.extend_from_slice(&[0, 0]);
    payload
}

/// An ERR packet.
pub fn err_packet(code: u16, sql_state: &str, message: &str) -> Vec<u8> {
    let mut payload = vec![0xff];
    payload.extend_from_slice(&code.to_le_bytes());
    payload.push(b'#');
    payload.extend_from_slice(sql_state.as_bytes());
    payload.extend_from_slice(message.as_bytes());
    payload
}

/// The first column of the first row of a text result set, as text.
pub fn first_text_value(packets: &[Packet]) -> Option<String> {
    let first = packets.first()?;
    if matches!(first.first_byte(), 0x00 | 0xff) {
        return None;
    }
    let (columns, _) = lenenc_int(&first.payload, 0)?;
    // Column definitions, then (without CLIENT_DEPRECATE_EOF) an EOF packet, then the rows: the
    // first row is the first packet after the definitions that is not an EOF.
    let row = packets
        .iter()
        .skip(1 + columns as usize)
        .find(|packet| !(packet.first_byte() == 0xfe && packet.payload.len() < 9))?;
    if row.first_byte() == 0xfb {
        return None;
    }
    let (length, at) = lenenc_int(&row.payload, 0)?;
    let value = row.payload.get(at..at + length as usize)?;
    Some(String::from_utf8_lossy(value).into_owned())
}

/// Capability flags at the start of a handshake response.
pub fn response_capabilities(payload: &[u8]) -> u32 {
    payload.get(0..4).map_or(0, |raw| {
        u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]])
    })
}

/// The user and database a client's handshake response (protocol 4.1) names.
pub fn response_user_and_database(payload: &[u8]) -> Option<(String, Option<String>)> {
    let capabilities = response_capabilities(payload);
    let mut at = 32;
    let user_end = at + payload.get(at..)?.iter().position(|b| *b == 0)?;
    let user = String::from_utf8_lossy(&payload[at..user_end]).into_owned();
    at = user_end + 1;
    if capabilities & CLIENT_PLUGIN_AUTH_LENENC != 0 {
        let (length, after) = lenenc_int(payload, at)?;
        at = after + length as usize;
    } else if capabilities & CLIENT_SECURE_CONNECTION != 0 {
        at += 1 + usize::from(*payload.get(at)?);
    } else {
        at += payload.get(at..)?.iter().position(|b| *b == 0)? + 1;
    }
    let database = if capabilities & CLIENT_CONNECT_WITH_DB != 0 {
        let end = at + payload.get(at..)?.iter().position(|b| *b == 0)?;
        Some(String::from_utf8_lossy(&payload[at..end]).into_owned())
    } else {
        None
    };
    Some((user, database))
}

/// The server's handshake with the capabilities the proxy cannot relay (TLS, compression) taken
/// out, so that the client asks for neither.
pub fn without_tls_and_compression(mut greeting: Vec<u8>) -> Vec<u8> {
    if let Some(version_end) = greeting.iter().skip(1).position(|b| *b == 0) {
        // protocol (1), version and its NUL, connection id (4), scramble (8), filler (1).
        let at = 1 + version_end + 1 + 4 + 8 + 1;
        if let Some(raw) = greeting.get_mut(at..at + 2) {
            let flags =
                u16::from_le_bytes([raw[0], raw[1]]) & !((CLIENT_SSL | CLIENT_COMPRESS) as u16);
            raw.copy_from_slice(&flags.to_le_bytes());
        }
    }
    greeting
}

/// A handshake response (protocol 4.1) for `user` without a password, with the client's
/// `capabilities`, extended MariaDB capabilities and character set, so the server's responses
/// have the same shape as those the client reads.
pub fn handshake_response(
    capabilities: u32,
    extended: [u8; 4],
    charset: u8,
    user: &str,
    database: Option<&str>,
) -> Vec<u8> {
    let mut capabilities = capabilities & !(CLIENT_SSL | CLIENT_COMPRESS | CLIENT_CONNECT_ATTRS);
    if database.is_some() {
        capabilities |= CLIENT_CONNECT_WITH_DB;
    } else {
        capabilities &= !CLIENT_CONNECT_WITH_DB;
    }
    let mut payload = Vec::new();
    payload.extend_from_slice(&capabilities.to_le_bytes());
    payload.extend_from_slice(&(MAX_PAYLOAD as u32).to_le_bytes());
    payload.push(charset);
    payload.extend_from_slice(&[0u8; 19]);
    payload.extend_from_slice(&extended);
    payload.extend_from_slice(user.as_bytes());
    payload.push(0);
    // An empty authentication response: the accounts have no password.
    payload.push(0);
    if let Some(database) = database {
        payload.extend_from_slice(database.as_bytes());
        payload.push(0);
    }
    if capabilities & CLIENT_PLUGIN_AUTH != 0 {
        payload.extend_from_slice(b"mysql_native_password\0");
    }
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenenc_integers_decode() {
        assert_eq!(lenenc_int(&[5], 0), Some((5, 1)));
        assert_eq!(lenenc_int(&[0xfc, 0x10, 0x01], 0), Some((0x110, 3)));
        assert_eq!(lenenc_int(&[0xfb], 0), None);
    }

    #[test]
    fn ok_packets_carry_their_status() {
        assert_eq!(
            ok_status(&ok_packet(SERVER_STATUS_IN_TRANS)),
            SERVER_STATUS_IN_TRANS
        );
    }
}
