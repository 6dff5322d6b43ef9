//! `server user …` (accounts; the first administrator is made here) and `server device …`.

use bodega::Bodega;

use super::open_store;
use crate::cli::{DeviceCmd, UserCmd};
use crate::config::Common;

/// Runs one `server user …` command.
///
/// # Errors
/// One clear line: an unknown user, a bad password, the database.
pub async fn user(common: &Common, cmd: UserCmd) -> anyhow::Result<()> {
    let bodega = open_store(common).await?;
    let result = user_command(&bodega, cmd).await;
    bodega.close().await;
    result
}

/// Runs one `server device …` command.
///
/// # Errors
/// One clear line: an unknown device, the database.
pub async fn device(common: &Common, cmd: DeviceCmd) -> anyhow::Result<()> {
    let bodega = open_store(common).await?;
    let result = match cmd {
        DeviceCmd::List => {
            for d in bodega.list_devices(None).await? {
                let state = d.revoked_at.map_or("active".to_string(), |_| {
                    format!("revoked ({})", d.revoke_reason.clone().unwrap_or_default())
                });
                println!("{}\tuser {}\t{}\tlast seq {}\t{state}", d.id, d.user_id, d.label, d.last_seq);
            }
            Ok(())
        }
        DeviceCmd::Revoke { id, reason } => {
            crate::accounts::revoke_device(&bodega, &id, &reason).await.map(|()| println!("device {id} revoked"))
        }
    };
    bodega.close().await;
    result
}

async fn user_command(bodega: &Bodega, cmd: UserCmd) -> anyhow::Result<()> {
    use crate::accounts as acc;
    match cmd {
        UserCmd::Add { username, display_name, roles, districts } => {
            acc::add_user(bodega, &username, &display_name, &roles, &districts).await?;
            println!("account '{username}' created");
        }
        UserCmd::Passwd { username } => {
            acc::set_password(bodega, &username).await?;
            println!("password set for '{username}'");
        }
        UserCmd::Unlock { username } => {
            acc::unlock(bodega, &username).await?;
            println!("'{username}' unlocked");
        }
        UserCmd::Deactivate { username } => {
            acc::set_active(bodega, &username, false).await?;
            println!("'{username}' deactivated");
        }
        UserCmd::Activate { username } => {
            acc::set_active(bodega, &username, true).await?;
            println!("'{username}' activated");
        }
        UserCmd::Totp { username } => println!("{}", acc::enrol_totp(bodega, &username).await?),
        UserCmd::List => {
            for line in acc::list_users(bodega).await? {
                println!("{line}");
            }
        }
    }
    Ok(())
}
