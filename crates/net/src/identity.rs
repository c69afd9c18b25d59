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
pub fn author_of(peer: &PeerId) -> Option<Author> {
    let hash = peer.as_ref();
    // Multihash code 0 is the identity "hash": the digest is the protobuf-encoded public key.
    if hash.code() != 0 {
        return None;
    }
    let key = PublicKey::try_decode_protobuf(hash.digest()).ok()?;
    Some(Author(key.try_into_ed25519().ok()?.to_bytes()))
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
        // A peer id that hashes its key (not ed25519) has no node key.
        assert_eq!(author_of(&PeerId::random()), None);
    }
}
