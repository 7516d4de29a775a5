//! The [`SecretStore`] contract.

use std::sync::Arc;

use roi_domain::ports::{SecretError, SecretStore};

/// What a secret case needs: the store, and a name prefix no other test uses.
pub struct Fixture {
    pub store: Arc<dyn SecretStore>,
    pub prefix: String,
}

pub async fn a_secret_reads_back_and_a_second_put_replaces_it(f: &Fixture) {
    // GIVEN a webhook secret put under a client's name
    let name = format!("{}/webhooks/acme-logistics/3f2a9c0d", f.prefix);
    f.store
        .put(&name, "whsec_first-value-0123456789")
        .await
        .unwrap();
    // THEN it reads back
    assert_eq!(
        f.store.get(&name).await.unwrap().as_deref(),
        Some("whsec_first-value-0123456789")
    );
    // WHEN it is put again THEN the new value is read
    f.store
        .put(&name, "whsec_second-value-9876543210")
        .await
        .unwrap();
    assert_eq!(
        f.store.get(&name).await.unwrap().as_deref(),
        Some("whsec_second-value-9876543210")
    );
    // AND a sibling name is its own secret
    let sibling = format!("{}/webhooks/acme-logistics/77aa00bb", f.prefix);
    assert_eq!(f.store.get(&sibling).await.unwrap(), None);
}

pub async fn an_unknown_name_reads_as_none_and_bad_input_is_refused(f: &Fixture) {
    let unknown = format!("{}/webhooks/nobody/00000000", f.prefix);
    assert_eq!(f.store.get(&unknown).await.unwrap(), None);
    for bad in [
        String::new(),
        format!("{}/../escape", f.prefix),
        format!("{}//double", f.prefix),
        format!("{}/with space", f.prefix),
        format!("{}/{}", f.prefix, "x".repeat(513)),
    ] {
        assert!(
            matches!(
                f.store.put(&bad, "value").await,
                Err(SecretError::Rejected(_))
            ),
            "put {bad:?}"
        );
        assert!(
            matches!(f.store.get(&bad).await, Err(SecretError::Rejected(_))),
            "get {bad:?}"
        );
    }
    let name = format!("{}/webhooks/empty/1", f.prefix);
    assert!(matches!(
        f.store.put(&name, "").await,
        Err(SecretError::Rejected(_))
    ));
}
