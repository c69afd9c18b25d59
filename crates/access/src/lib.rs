//! Who may do what on a node: the roles of the API's users and the areas they cover ([`policy`]), and the users
//! themselves with their tokens ([`users`]), and officials' page sessions ([`sessions`]). The API asks [`Caller`]'s methods before it acts or shows anything.
//!
//! | role | area | sees | may |
//! |---|---|---|---|
//! | public (no token) | — | public parts of alerts; its own case by tracking code | raise an alert through the portal; report a sighting; file a case (anonymous allowed) |
//! | station officer, DPO | a district | alerts in full where last seen in the district; its cases | raise alerts; add alert events (validate, close, mobilise, FIR, escalate in the area; sighted, recovered, reunited anywhere); file and work the district's cases |
//! | RPO | a region | the same for the region's districts | the same for the region |
//! | IG | a province | the same for the province | the same for the province |
//! | ministry | national | every alert and case in full, not the register | read only |
//! | register officer | national (federal node only) | public parts | the register (its own issue) |
//! | auditor | national | public parts | audit reads (their own issue) |

pub mod policy;
pub mod sessions;
pub mod users;

pub use policy::{Area, Caller, Denied, Role};
pub use sessions::{Current, SESSION_COOKIE, Sessions, SignedIn};
pub use users::{AccessError, AuthError, Directory, TOKEN_PREFIX, USERS_FILE, User, Users};
