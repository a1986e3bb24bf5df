//! Completing a channel: its address as a NATS subject, and its parameters checked
//! against the address.

use super::lower::Lowering;
use super::subject::parse_subject;
use crate::ir::{ChannelId, Location, MessageId, Parameter, Severity, SubjectToken};

impl Lowering {
    /// Stores the channel's parameters and messages and parses its address. Why an
    /// address is not a subject is kept for the operations that use the channel.
    pub fn finish_channel(
        &mut self,
        id: ChannelId,
        at: &Location,
        address: Option<&str>,
        mut parameters: Vec<Parameter>,
        messages: Vec<MessageId>,
    ) {
        let subject = match address {
            None => {
                self.subject_problems.insert(
                    id,
                    "has no address (`address: null` leaves it to the application at run time)"
                        .into(),
                );
                None
            }
            Some(address) => match parse_subject(address) {
                Ok(subject) => Some(subject),
                Err(why) => {
                    self.subject_problems.insert(
                        id,
                        format!("has address `{address}`, which is not a NATS subject ({why})"),
                    );
                    None
                }
            },
        };
        if let Some(subject) = &subject {
            for token in &subject.tokens {
                let SubjectToken::Parameter(name) = token else {
                    continue;
                };
                if !parameters.iter().any(|p| &p.name == name) {
                    let location = self.locate(at, "address");
                    self.diagnostic(
                        Severity::Warning,
                        location,
                        format!("address parameter `{{{name}}}` is not declared under `parameters`; it is taken as a free string"),
                    );
                    parameters.push(Parameter {
                        name: name.clone(),
                        description: None,
                        enum_values: Vec::new(),
                        default: None,
                        examples: Vec::new(),
                        pattern: None,
                        location_expr: None,
                    });
                }
            }
        }
        let channel = &mut self.channels[id.0];
        channel.subject = subject;
        channel.parameters = parameters;
        channel.messages = messages;
    }
}
