//! Queries on who may open a room: `rooms.visibility`, `rooms.default_role`, `room_members`.

use super::{with_pool, Store};
use crate::rooms::access::{Role, RoomAccess, Visibility};

/// A row of [`ACCESS_COLUMNS`]: the room and the user's membership role, if any.
type AccessRow = (i64, String, String, String, Option<String>);

const ACCESS_COLUMNS: &str = "SELECT rooms.id, rooms.name, rooms.visibility, rooms.default_role, \
     room_members.role FROM rooms LEFT JOIN room_members \
     ON room_members.room_id = rooms.id AND room_members.user_id = $2";

impl Store {
    /// The room with this name (whatever its letter case) as `user_id` may see it, or `None`
    /// when there is no such room or it is private and they are not a member. One query either
    /// way, so that a private room answers as fast as a missing one.
    pub async fn room_access(&self, name: &str, user_id: i64) -> sqlx::Result<Option<RoomAccess>> {
        let sql = format!("{ACCESS_COLUMNS} WHERE lower(rooms.name) = lower($1)");
        let row: Option<AccessRow> = with_pool!(self, pool => sqlx::query_as(&sql)
            .bind(name)
            .bind(user_id)
            .fetch_optional(pool)
            .await)?;
        row.map_or(Ok(None), resolve)
    }

    /// [`Store::room_access`] by the room's id: what an open socket re-checks when the room's
    /// rules or the user's membership change.
    pub async fn room_access_by_id(
        &self,
        room_id: i64,
        user_id: i64,
    ) -> sqlx::Result<Option<RoomAccess>> {
        let sql = format!("{ACCESS_COLUMNS} WHERE rooms.id = $1");
        let row: Option<AccessRow> = with_pool!(self, pool => sqlx::query_as(&sql)
            .bind(room_id)
            .bind(user_id)
            .fetch_optional(pool)
            .await)?;
        row.map_or(Ok(None), resolve)
    }
}

fn resolve(
    (room_id, name, visibility, default_role, membership): AccessRow,
) -> sqlx::Result<Option<RoomAccess>> {
    let visibility: Visibility = parse(&visibility, "rooms.visibility")?;
    let default_role: Role = parse(&default_role, "rooms.default_role")?;
    let membership: Option<Role> = membership
        .map(|role| parse(&role, "room_members.role"))
        .transpose()?;
    Ok(RoomAccess::resolve(
        room_id,
        name,
        visibility,
        default_role,
        membership,
    ))
}

/// A stored enumeration value; the schema's CHECK constraints keep it one of the known ones.
pub(super) fn parse<T: std::str::FromStr>(value: &str, column: &'static str) -> sqlx::Result<T> {
    value.parse().map_err(|_| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: format!("unknown value {value:?}").into(),
    })
}
