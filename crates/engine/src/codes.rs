//! Alerts' short codes (`hifazat_domain::AlertCode`): filed in the store's index of codes in the batch that first
//! stores an alert, local or remote, so any node finds an alert by the code people read out. A store written
//! before codes were kept gets them filed once when the engine starts.

use hifazat_domain::AlertCode;

use super::*;

/// The store's marker that every alert's code is filed.
pub const BUILT: &str = "alert-codes-v1";
/// Codes filed per batch while building.
const BUILD_BATCH: usize = 4_096;

/// Files every stored alert's code when the store has not yet (written before they were kept, or cut short:
/// filing a code twice writes the same key).
pub(crate) fn ensure(store: &Store) -> Result<(), StoreError> {
    if store.meta(BUILT)?.is_some() {
        return Ok(());
    }
    let mut batch = store.batch();
    let mut filed = 0usize;
    for item in store.summaries(RecordKind::Alert, None) {
        let (id, _) = item?;
        store.set_alert_code(&mut batch, AlertCode::of(&id).as_str(), &id);
        filed += 1;
        if filed.is_multiple_of(BUILD_BATCH) {
            store.apply(std::mem::replace(&mut batch, store.batch()))?;
        }
    }
    store.apply(batch)?;
    tracing::info!(filed, "filed the alerts' short codes");
    // The marker last, in the flush that makes every key durable.
    let mut batch = store.batch();
    store.set_meta(&mut batch, BUILT, b"1");
    store.commit(batch)
}

impl Engine {
    /// The alerts with this short code held here (usually one; codes are not unique), as lists show them.
    pub async fn alerts_by_code(&self, code: &AlertCode) -> Result<Vec<AlertSummary>, EngineError> {
        let store = self.local.store.clone();
        let text = code.as_str().to_owned();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            for id in store.alert_code(&text)? {
                if let Some(bytes) = store.summary(RecordKind::Alert, &id)?
                    && let Ok(s) = serde_json::from_slice::<summary::Stored<AlertSummary>>(&bytes)
                {
                    out.push(s.summary);
                }
            }
            Ok(out)
        })
        .await
        .map_err(|_| EngineError::Stopped)?
    }
}
