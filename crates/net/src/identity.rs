//! Node keys and libp2p peer ids: the same ed25519 key, two spellings.

use hifazat_log::Author;
use libp2p::PeerId;
use libp2p::identity::{PublicKey, ed25519};

/// The peer id of a node key, or `None` if the bytes are not an ed25519 public key.
pub fn peer_id_of(author: &Author) -> Option<PeerId> {
    let key = ed25519::PublicKey::try_from_bytes(&author.0).ok()?;
    Some(PublicKey::from(key).to_peer_id())
}

/// The node key inside a peer id; `None` unless it is an ed25519 key (whose ids inline the key itself).
///
/// Read from the id's bytes, on every gossip message: decoding the key as a curve point would cost a point
/// decompression each time, and buys nothing here. A peer id met on a connection was made by libp2p from the key
/// the peer proved in its handshake, and what the key may do is decided by finding its bytes in the topology.
pub fn author_of(peer: &PeerId) -> Option<Author> {
    let hash = peer.as_ref();
    // Multihash code 0 is the identity "hash": the digest is the protobuf-encoded public key, which for ed25519
    // is key type 1 (field 1) and the 32 key bytes (field 2), in that order.
    if hash.code() != 0 {
        return None;
    }
    match hash.digest() {
        [0x08, 0x01, 0x12, 0x20, key @ ..] => Some(Author(key.try_into().ok()?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_ids_and_node_keys_round_trip() {
        for seed in [[1u8; 32], [7; 32], [200; 32]] {
            let pair = libp2p::identity::Keypair::ed25519_from_bytes(seed).expect("key");
            let peer = pair.public().to_peer_id();
            let author = author_of(&peer).expect("an ed25519 peer id");
            assert_eq!(peer_id_of(&author), Some(peer));
        }
        // An identity id whose bytes are not an ed25519 key's encoding has no node key.
        assert_eq!(author_of(&PeerId::random()), None);
        // Nor has an ed25519 encoding that is cut short or runs on.
        let pair = libp2p::identity::Keypair::ed25519_from_bytes([3u8; 32]).expect("key");
        let encoded = pair.public().encode_protobuf();
        for bytes in [&encoded[..35], &[encoded.as_slice(), &[0]].concat()[..]] {
            let hash = libp2p::multihash::Multihash::<64>::wrap(0, bytes).expect("fits");
            let peer = PeerId::from_multihash(hash).expect("identity");
            assert_eq!(author_of(&peer), None);
        }
        // A key too long to inline is hashed into its id (SHA-256): no node key either.
        let hash = libp2p::multihash::Multihash::<64>::wrap(0x12, &[9; 32]).expect("sha-256");
        assert_eq!(
            author_of(&PeerId::from_multihash(hash).expect("sha-256 id")),
            None
        );
    }
}
