//! Who may do what in a room: its visibility and each user's role there.
//!
//! A public room may be opened by anyone signed in, with the room's default role unless they are
//! a member; a private room only by its members. To anyone else a private room does not exist:
//! every route answers as it does for a missing room.

use std::fmt;
use std::str::FromStr;

/// What a user may do in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Sees the document live, others' cursors and the chat; changes nothing.
    Viewer,
    /// Edits the document and chats.
    Editor,
    /// Everything, including managing members and links and deleting the room.
    Owner,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Editor, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }

    /// "an owner", "an editor", "a viewer": the role in a sentence.
    pub fn with_article(self) -> &'static str {
        match self {
            Role::Owner => "an owner",
            Role::Editor => "an editor",
            Role::Viewer => "a viewer",
        }
    }

    /// `s` as a role that a share link or a public room's default can give: editor or viewer
    /// (ownership is only ever given by an owner, by name).
    pub fn grantable(s: &str) -> Option<Role> {
        match s.parse() {
            Ok(role @ (Role::Editor | Role::Viewer)) => Some(role),
            _ => None,
        }
    }

    /// Whether this role may change the document and send chat.
    pub fn can_edit(self) -> bool {
        self >= Role::Editor
    }

    /// Whether this role may manage the room (members, links, settings, deletion).
    pub fn can_manage(self) -> bool {
        self == Role::Owner
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of `owner`, `editor`, `viewer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRole;

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "owner" => Ok(Role::Owner),
            "editor" => Ok(Role::Editor),
            "viewer" => Ok(Role::Viewer),
            _ => Err(UnknownRole),
        }
    }
}

/// Who may find and open a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Listed to everyone signed in; anyone signed in may open it.
    Public,
    /// Members only; not listed to others, and missing to them.
    Private,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Private => "private",
        }
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A visibility name that is not `public` or `private`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVisibility;

impl FromStr for Visibility {
    type Err = UnknownVisibility;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "public" => Ok(Visibility::Public),
            "private" => Ok(Visibility::Private),
            _ => Err(UnknownVisibility),
        }
    }
}

/// A room as one user may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomAccess {
    pub room_id: i64,
    /// As created (the lookup ignores letter case).
    pub name: String,
    pub visibility: Visibility,
    /// What a signed-in non-member gets in a public room.
    pub default_role: Role,
    /// The user's membership role, if they are a member.
    pub membership: Option<Role>,
    /// What the user may do: their membership role, else the public room's default role.
    pub role: Role,
}

impl RoomAccess {
    /// What `membership` makes of a room for one user, or `None` when the room is private and
    /// they are not a member (the room then does not exist for them).
    pub fn resolve(
        room_id: i64,
        name: String,
        visibility: Visibility,
        default_role: Role,
        membership: Option<Role>,
    ) -> Option<Self> {
        let role = match (membership, visibility) {
            (Some(role), _) => role,
            (None, Visibility::Public) => default_role,
            (None, Visibility::Private) => return None,
        };
        Some(Self {
            room_id,
            name,
            visibility,
            default_role,
            membership,
            role,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_room_exists_only_for_its_members() {
        let access = |visibility, membership| {
            RoomAccess::resolve(1, "r".into(), visibility, Role::Viewer, membership).map(|a| a.role)
        };
        assert_eq!(access(Visibility::Private, None), None);
        assert_eq!(
            access(Visibility::Private, Some(Role::Editor)),
            Some(Role::Editor)
        );
        assert_eq!(access(Visibility::Public, None), Some(Role::Viewer));
        assert_eq!(
            access(Visibility::Public, Some(Role::Owner)),
            Some(Role::Owner)
        );
    }

    #[test]
    fn roles_and_visibilities_read_back_what_they_write() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse(), Ok(role));
        }
        assert_eq!("admin".parse::<Role>(), Err(UnknownRole));
        assert_eq!(Role::grantable("viewer"), Some(Role::Viewer));
        assert_eq!(Role::grantable("owner"), None);
        assert!(Role::Editor.can_edit() && !Role::Viewer.can_edit());
        assert!(Role::Owner.can_manage() && !Role::Editor.can_manage());
        for v in [Visibility::Public, Visibility::Private] {
            assert_eq!(v.as_str().parse(), Ok(v));
        }
    }
}
