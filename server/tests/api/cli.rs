//! The operator CLI for credential provisioning: the same
//! rules as the web app, the secret printed once.

use app::model::Role;
use appcred_server::cli::credential_command;
use appcred_server::config::CredentialCommand;

#[tokio::test]
async fn the_cli_provisions_lists_regenerates_and_deletes_with_the_web_rules() {
    let app = crate::common::spawn().await;
    app.create_user("ops-bot", "a long secret phrase", &[Role::WorkCreator]).await;
    let created = credential_command(
        &app.state,
        CredentialCommand::Create {
            username: "ops-bot".into(),
            name: "Provisioned".into(),
            expires_on: None,
            roles: vec!["work_creator".into()],
        },
    )
    .await
    .unwrap();
    let id = created["client_id"].as_str().unwrap().to_string();
    let secret = created["client_secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("acs_"));

    // the same rules: a role the user lacks is refused
    let err = credential_command(
        &app.state,
        CredentialCommand::Create {
            username: "ops-bot".into(),
            name: "Too much".into(),
            expires_on: None,
            roles: vec!["administrator".into()],
        },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("roles"), "{err}");

    let list = credential_command(&app.state, CredentialCommand::List { username: "ops-bot".into() }).await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(&secret), "listing never shows a secret");

    let fresh = credential_command(
        &app.state,
        CredentialCommand::Regenerate { username: "ops-bot".into(), client_id: id.clone() },
    )
    .await
    .unwrap();
    assert_ne!(fresh["client_secret"], created["client_secret"]);

    // another user's credential is "not found" for them
    let err =
        credential_command(&app.state, CredentialCommand::Delete { username: "admin".into(), client_id: id.clone() })
            .await
            .unwrap_err();
    assert!(err.to_string().contains("not found"));
    credential_command(&app.state, CredentialCommand::Delete { username: "ops-bot".into(), client_id: id })
        .await
        .unwrap();
    let list = credential_command(&app.state, CredentialCommand::List { username: "ops-bot".into() }).await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 0);
}
